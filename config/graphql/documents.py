"""Parsed documents that passed validation, kept by their text: clients send the same few documents
again and again (with other variables), and parsing plus validating a whole-plan query costs 3 to 4 ms
of pure Python each time.

Only documents that parsed and passed every validation rule are kept, under their exact text and the
settings validation depends on (nesting depth, introspection), so a changed setting is obeyed at once
and invalid documents never fill the cache. What depends on the variables (query cost, page sizes) is
still measured on every request. At most ``MAX_DOCUMENTS`` documents of at most ``MAX_TEXT`` characters
are kept, the least recently used leaving first.
"""

from collections import OrderedDict
from threading import Lock

from graphql import DocumentNode

MAX_DOCUMENTS = 200
MAX_TEXT = 20_000


class DocumentCache:
    def __init__(self, max_documents: int = MAX_DOCUMENTS, max_text: int = MAX_TEXT):
        self.max_documents = max_documents
        self.max_text = max_text
        self._documents: OrderedDict[tuple, DocumentNode] = OrderedDict()
        self._lock = Lock()

    def get(self, key: tuple) -> DocumentNode | None:
        with self._lock:
            document = self._documents.get(key)
            if document is not None:
                self._documents.move_to_end(key)
            return document

    def put(self, key: tuple, text: str, document: DocumentNode) -> None:
        if len(text) > self.max_text:
            return
        with self._lock:
            self._documents[key] = document
            self._documents.move_to_end(key)
            while len(self._documents) > self.max_documents:
                self._documents.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._documents.clear()

    def __len__(self) -> int:
        return len(self._documents)


valid_documents = DocumentCache()
