//! Local XSUAA, Destination service and Backend API, wire-compatible with SAP BTP's.
pub mod names;
