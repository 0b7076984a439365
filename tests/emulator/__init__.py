"""Local Azure Resource Manager emulator (test fixture). See README.md."""
