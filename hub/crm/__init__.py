"""The customer-relationship memory: custom fields, tiers, figures and search (docs/crm.md)."""
