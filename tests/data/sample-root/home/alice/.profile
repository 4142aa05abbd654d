Welcome
