"""Reader recipes: RAFT data, LoRA training, distillation and calibration."""
