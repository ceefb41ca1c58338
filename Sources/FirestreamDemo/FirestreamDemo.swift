// FirestreamDemo: the flagship demo, an ordinary user of the runtime. `MetronomeSource` ticks on
// the wall clock and writes one reading per device to `metronome`; `WienerApp` compares each
// device's reading with its previous one and advances a Wiener process into `wiener`.
// `firestream up` registers both kinds in its app catalog like any other app kind.
