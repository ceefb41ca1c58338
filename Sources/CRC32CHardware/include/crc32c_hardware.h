#ifndef FIRESTREAM_CRC32C_HARDWARE_H
#define FIRESTREAM_CRC32C_HARDWARE_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has CRC-32C instructions (SSE4.2 on x86-64, the CRC extension on arm64).
int firestream_crc32c_hardware_available(void);

/// Continues a CRC-32C over `length` bytes with the CPU's instructions. `crc` is the running
/// value before the final inversion (start from 0xFFFFFFFF). Call only when available.
uint32_t firestream_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length);

#endif
