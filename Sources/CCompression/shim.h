// The four codecs of Kafka record batches, from the system (Debian: zlib1g-dev, libsnappy-dev,
// liblz4-dev, libzstd-dev; scripts/prerequisites.sh installs them).
#include <zlib.h>
#include <snappy-c.h>
#include <lz4frame.h>
#include <zstd.h>
