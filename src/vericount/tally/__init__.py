"""The certified tally: at least N distinct people, with a certificate; an estimate and an upper bound."""
