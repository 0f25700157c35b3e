"""The red-team corpus: skimmer pages and legitimate look-alikes, with what the audit must find."""
