"""Fixtures of the sms tests: none shared. `sms_district` (texting a live server through the fake
gateway) and `fake_twilio`/`twilio_settings` are in tests/conftest.py; test_twilio_gateway.py and
test_reliability.py keep fixtures only they use."""
