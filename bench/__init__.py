"""Side-by-side speed benchmark: Transfer Lab's engine against the loops people usually copy (see __main__)."""
