"""The bundled sample: the book's moving-average crossover (:mod:`fbt.sample.strategies`) and
fbt's synthetic daily bars (:mod:`fbt.sample.data`, files in ``fbt/sample/bars/``)."""
