"""The reader runtime: the packaged base model, span-constrained decoding, abstention (head
and answer verifier), the adapter registry and the training card."""
