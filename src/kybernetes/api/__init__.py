"""API machinery without I/O: the resource registry, per-kind strategies, schema facts, selectors, patches,
tables, conversion, protobuf decoding and Status errors.  Imports nothing else of Kybernetes."""
