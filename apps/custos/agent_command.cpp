// `custos agent`: placeholder until the agent command lands (issue 4); it refuses
// to run rather than pretend.
#include <iostream>

#include "apps/custos/commands.h"

namespace custos::cli {

int RunAgent(const std::vector<std::string>& /*args*/) {
  std::cerr << "custos agent: not built yet (issue 4 is in progress)\n";
  return kExitFailure;
}

}  // namespace custos::cli
