"""Arbiter's own checks of what the shop's customers touch: pages, certificate, DNS, mail."""
