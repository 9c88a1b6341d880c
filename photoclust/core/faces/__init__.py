"""People: faces found in photos, grouped into people, named and corrected (docs/people.md).

- ``detect``: dlib's HOG detector, 5-point landmarks and ResNet descriptor (offline models).
- ``job``: ``FacesJob``, the faces stage of Organize (incremental, resumable, cancellable).
- ``grouping``: Chinese whispers at distance 0.5, incremental; never merges people.
- ``neighbours``: near faces for the grouping: exact for a few thousand, by cells beyond.
- ``editing``: the user's corrections (undoable edits).
- ``read``: the read side for the CLI and the app.
Qt-free, like all of ``photoclust.core``.
"""
