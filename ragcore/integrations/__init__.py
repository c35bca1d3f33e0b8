"""Faces for other frameworks: LlamaIndex (``llama_index``) and LangChain (``langchain``)
retrievers over a ragcore index. Each lives behind an optional extra and is imported only
when used, so the core install does not grow."""
