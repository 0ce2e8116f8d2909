"""The recovery and hardening actions; importing this package registers every action class."""
