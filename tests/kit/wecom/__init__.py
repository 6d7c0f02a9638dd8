"""WeCom for tests: what it sends (`payloads`), a fake of it (`server`), the bot behind it
(`rig`)."""
