from connectors.polling import PollingConnector


class MagentoConnector(PollingConnector):
    pass
