"""The generated store: a fashion brand's catalogue and reference data, its orders and purchase orders planned on
a timeline, and the records the API shows of them at a clock time. Built from the seed alone."""
