"""Dataset loaders shared by evaluation and the reader's training recipes: BEIR and SQuAD 2.0."""
