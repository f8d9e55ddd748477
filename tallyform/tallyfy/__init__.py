"""Tallyfy's wire format: everything tallyform knows about how Tallyfy shapes its data.

The HTTP client below (:mod:`tallyform.client`) sends, retries, paces and authenticates;
this package knows what to send and how to read what comes back: the includes that make a
template whole (:mod:`.wire`), reading the org (:mod:`.read`), decoding a live template
into the normalised state a plan compares (:mod:`.decode`), the body of every write
(:mod:`.payloads`), carrying out each change with the look-up that keeps a lost create
from being sent twice (:mod:`.writes`), and the org's apply lock (:mod:`.lock`).
"""
