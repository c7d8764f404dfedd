# Sphinx settings of the baton.docker documentation site (scripts/build_docs.sh, `make docs`): the reference pages
# antsibull-docs writes for every module, role and filter, and the guides in docs/guides (Markdown).
project = "baton.docker"
copyright = "baton.docker contributors"
title = "baton.docker documentation"
html_short_title = "baton.docker"
html_title = "baton.docker documentation"

extensions = ["sphinx_antsibull_ext", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = []

pygments_style = "ansible"
highlight_language = "YAML+Jinja"
html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
html_theme_options = {"display_version": False}

# Every reference must resolve: the few Ansible documentation labels antsibull-docs links to are defined in
# ansible_references.rst, since this site is built without the network.
nitpicky = True
default_role = "any"
myst_heading_anchors = 3
