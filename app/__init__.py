"""The command-line side: option plumbing, one training run from data to model, pictures of the result."""
