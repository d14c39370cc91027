"""Zero-knowledge Krum: the circuit's variants, its inputs, the prover."""
