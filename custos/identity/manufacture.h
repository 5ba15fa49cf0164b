// File: custos/identity/manufacture.h
//
// Manufacturing and the device's own state folder.
//
// Manufacture gives a device its identity at the factory: a new key in the
// device's KeyStore (it never leaves it) and a birth certificate for that key
// signed by a manufacturer CA (a FleetCa created the same way as a fleet's,
// e.g. "Acme Manufacturing"). A fleet CA that trusts the manufacturer's root
// later enrolls the device with no token (zero-touch).
//
// DeviceState is what a device keeps in its state folder (DIR/device.json,
// replaced atomically, plus PEM copies for other tools): its id, where its
// key is, its birth certificate and its current operational certificate.
#ifndef CUSTOS_IDENTITY_MANUFACTURE_H_
#define CUSTOS_IDENTITY_MANUFACTURE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/identity/fleet_ca.h"
#include "custos/identity/x509_certificate.h"
#include "custos/keystore/key_store.h"

namespace custos::identity {

// The state file of a device folder.
inline constexpr std::string_view kDeviceStateFile = "device.json";

// What a device knows about itself. PEM fields hold one or more
// certificates; empty when absent.
struct DeviceState {
  std::string device_id;
  std::string store_uri;              // the device's key store
  std::string key_label;              // its current identity key
  std::string key_type;               // that key's algorithm
  std::string birth_certificate_pem;  // from the manufacturer
  std::string birth_chain_pem;        // manufacturer intermediates
  std::string manufacturer_root_pem;
  std::string certificate_pem;  // operational certificate from the fleet CA
  std::string chain_pem;        // its intermediates and cross-certificates
  std::string roots_pem;        // fleet roots the device trusts
  // During a rotation carried by files: the new key waiting for its
  // certificate (empty otherwise).
  std::string pending_key_label;
  std::string pending_key_type;
  int key_generation = 1;  // increases with each rotation; part of key labels
};

// Writes DIR/device.json atomically (creating DIR, mode 0700, if needed) and
// refreshes the PEM copies DIR/birth.pem, DIR/cert.pem, DIR/chain.pem,
// DIR/roots.pem for the non-empty fields.
Status SaveDeviceState(const std::string& dir, const DeviceState& state);
// Reads DIR/device.json. NotFound if absent; DataLoss if corrupt.
StatusOr<DeviceState> LoadDeviceState(const std::string& dir);

// Manufactures device `device_id`: generates a `key_type` key labelled
// `key_label` in `device_store` (AlreadyExists if the label is taken), has
// `manufacturer` issue its birth certificate (recorded in the manufacturer's
// registry) and returns the device's state (birth fields filled in,
// `store_uri` as given). On error the new key is destroyed.
StatusOr<DeviceState> Manufacture(FleetCa& manufacturer, keystore::KeyStore& device_store,
                                  std::string_view store_uri, std::string_view device_id,
                                  keystore::KeyType key_type, std::string_view key_label,
                                  int64_t now);

}  // namespace custos::identity

#endif  // CUSTOS_IDENTITY_MANUFACTURE_H_
