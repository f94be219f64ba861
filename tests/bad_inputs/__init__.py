"""The bad-input catalog: every bad input and the exact error it must give (issue 7)."""
