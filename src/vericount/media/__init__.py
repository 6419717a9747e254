"""Reading media: recognising file types, probing metadata, (later) decoding and sampling frames."""
