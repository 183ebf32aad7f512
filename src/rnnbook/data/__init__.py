"""From files to tensors: the course's data sets (``datasets``), tokenizers and vocabularies
(``vocab``), and batches (``batching``). Chapter 1 builds each step by hand; later chapters import them."""
