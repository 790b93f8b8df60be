"""Automation rules (issue 18): a reactor on the event log that acts through the same
services as people, recorded with the rule as actor. See docs/workflow.md.

- :mod:`hub.rules.schema` — what a trigger, a condition and an action may say (checked
  on save, bounded);
- :mod:`hub.rules.engine` — pure: does a rule match these facts, and what would it do;
- :mod:`hub.rules.facts` — the facts of a conversation, read from the database;
- :mod:`hub.rules.actions` — an action done through the services (rules and macros);
- :mod:`hub.rules.executor` — claims pending firings, plans them and runs their actions;
- :mod:`hub.rules.reactor` — :class:`RulesReactor`, the reactor that records firings.
"""
