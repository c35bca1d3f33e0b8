"""Document sources (``ragcore.connectors``). Each registers through the entry-point group
``ragcore.connectors``, the same way a third-party package would."""
