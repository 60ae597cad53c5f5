"""The cross-agency team: enrolment, staff, the weekly meeting and outcomes."""
