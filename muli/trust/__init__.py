"""Who someone is and what they may see: accounts, the access policy, the audit trail, keys, national ids."""
