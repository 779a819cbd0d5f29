"""From what the network saw to concepts: ImageNet's classes rolled up, and the trained heads."""
