"""Reaching someone after hours: contact requests, the on-call rota, escalation, handover, notifications."""
