"""Learning: offline MNIST, shards, the CNN, local training and the update codec."""
