// Entry point of the audioscore_pyin Vamp plugin library.
#include "PyinPlugin.h"

#include <vamp-sdk/PluginAdapter.h>

static Vamp::PluginAdapter<audioscore::PyinPlugin> pyinAdapter;

const VampPluginDescriptor *vampGetPluginDescriptor(unsigned int version, unsigned int index) {
    if (version < 1) return nullptr;
    return index == 0 ? pyinAdapter.getDescriptor() : nullptr;
}
