"""The patient's own material: crisis and mastery plans, diary, consents, profile, record and PDF."""
