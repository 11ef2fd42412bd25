//! amili-sandbox (work in progress).
