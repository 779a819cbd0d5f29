"""Text in the image: the OCR gate, Tesseract in process, the words and prices that count."""
