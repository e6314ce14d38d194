"""LocalSpot's benchmark suite (issue 4): `make bench`, or `python -m bench.run`. Not part of the tests."""
