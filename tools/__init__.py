"""Developer tools that are not deployed: the local AWS emulator and the rehearsal command."""
