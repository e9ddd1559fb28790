"""Level-1 trigger emulation (Belle II): CDC track lines, the neural z trigger, ECL and KLM lines."""
