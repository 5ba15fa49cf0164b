// `custos sim`: placeholder until the sim command lands (issue 4); it refuses
// to run rather than pretend.
#include <iostream>

#include "apps/custos/commands.h"

namespace custos::cli {

int RunSim(const std::vector<std::string>& /*args*/) {
  std::cerr << "custos sim: not built yet (issue 4 is in progress)\n";
  return kExitFailure;
}

}  // namespace custos::cli
