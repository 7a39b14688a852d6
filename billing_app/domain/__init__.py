"""Pure domain logic: stdlib, babel and dateutil only. No I/O."""
