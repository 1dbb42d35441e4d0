from fluffy_desktop.cli import main

raise SystemExit(main())
