"""The public status page of a shop for its customers: what they feel, never who is to blame."""
