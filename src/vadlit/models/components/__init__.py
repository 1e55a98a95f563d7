"""Model components in plain torch: the frequency split, the temporal blocks (attention and the
temporal convolution) and channel selection. They know nothing of configs and raise plain
``ValueError``s about their own arguments."""
