"""Taking the account back after containment: recover (manual steps 3.1, 3.5-3.7) and harden."""
