//! Request signers, one per API family.
